// The report's replay of the agents' status journals (sim/report/replay.py writes the data).
(function () {
  const D = JSON.parse(document.getElementById("replay-data").textContent);
  const pick = document.getElementById("replay-agent");
  const slider = document.getElementById("replay-time");
  const clock = document.getElementById("replay-clock");
  const box = document.getElementById("replay-tree");
  const list = document.getElementById("replay-events");
  const table = document.getElementById("fleet-now");
  const play = document.getElementById("replay-play");
  let shown = null;          // the tree key drawn in box
  let timer = null;

  // Each node's status letter after the last tick at or before t (a frame [t] alone: restart).
  function statesAt(agent, t) {
    const nodes = D.trees[agent.tree].labels.length;
    let states = new Array(nodes).fill("I");
    for (const frame of agent.frames) {
      if (frame[0] > t) break;
      if (frame.length === 1) states = new Array(nodes).fill("I");
      for (let k = 1; k + 1 < frame.length; k += 2) states[frame[k]] = frame[k + 1];
    }
    return states;
  }

  function mmss(t) {
    const s = Math.floor(t), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return (h ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
  }

  function shapeOf(g) {
    return g.querySelector("polygon, path, ellipse");
  }

  function drawTree(agent) {
    if (shown === agent.tree) return;
    box.innerHTML = D.trees[agent.tree].svg || "<p class=note>(no drawing: Graphviz missing)</p>";
    const svg = box.querySelector("svg");
    if (svg) {                       // as wide as the page, never wider than drawn
      svg.style.maxWidth = "100%";
      svg.style.height = "auto";
    }
    for (const g of box.querySelectorAll("g.node")) {
      const shape = shapeOf(g);
      if (shape) g.dataset.fill = shape.getAttribute("fill") || "none";
    }
    shown = agent.tree;
  }

  function colour(states) {
    for (const g of box.querySelectorAll("g.node")) {
      const i = parseInt(g.querySelector("title").textContent.slice(1), 10) - 1;
      const shape = shapeOf(g);
      g.dataset.status = states[i];
      if (!shape) continue;
      shape.setAttribute("fill", D.colours[states[i]] || g.dataset.fill);
      shape.setAttribute("stroke-width", states[i] === "I" ? "1" : "2.5");
    }
  }

  function events(agent, t) {
    const upTo = agent.events.filter((e) => e[0] <= t).slice(-15);
    list.innerHTML = "";
    upTo.forEach((e, k) => {
      const li = document.createElement("li");
      li.textContent = mmss(e[0]) + "  " + e[1] + "  " + e[2];
      if (k === upTo.length - 1) li.className = "now";
      list.appendChild(li);
    });
  }

  function fleetAt(t) {
    const rows = {};
    for (const [id, agent] of Object.entries(D.agents)) {
      const states = statesAt(agent, t), tree = D.trees[agent.tree];
      for (const i of tree.leaves) {
        if (states[i] !== "R") continue;
        const key = agent.role + "\u0000" + tree.labels[i];
        rows[key] = (rows[key] || 0) + 1;
      }
    }
    let html = "<tr><th class=l>role</th><th class=l>leaf</th><th>agents in it</th></tr>";
    for (const key of Object.keys(rows).sort()) {
      const [role, label] = key.split("\u0000");
      html += "<tr><td class=l>" + esc(role) + "</td><td class=l>" + esc(label) +
        "</td><td>" + rows[key] + "</td></tr>";
    }
    table.innerHTML = html;
  }

  function esc(text) {
    const div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function update() {
    const agent = D.agents[pick.value];
    const t = parseFloat(slider.value);
    clock.textContent = mmss(t);
    if (!agent) return;
    drawTree(agent);
    colour(statesAt(agent, t));
    events(agent, t);
    fleetAt(t);
  }

  play.addEventListener("click", () => {
    if (timer) { clearInterval(timer); timer = null; play.textContent = "▶ play"; return; }
    if (parseFloat(slider.value) >= D.end) slider.value = 0;
    play.textContent = "❚❚ pause";
    timer = setInterval(() => {
      const next = Math.min(D.end, parseFloat(slider.value) + D.end / 300);
      slider.value = next;
      update();
      if (next >= D.end) { clearInterval(timer); timer = null; play.textContent = "▶ play"; }
    }, 50);
  });
  pick.addEventListener("change", update);
  slider.addEventListener("input", update);
  update();
})();
