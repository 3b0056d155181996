"""The report's "Trees in time" section: replay of one agent's tree and the fleet at any moment.

One self-contained block: the data as JSON (each agent's status frames and journal events, each
distinct tree drawn once as SVG by Graphviz, as `tree-runner render` draws it), a small script
(`replay.js`) and the per-leaf statistics. A time slider (and a play button) colours the chosen
agent's nodes by their status at that time, lists its journal events up to it, and counts, per
role, the agents in each leaf then.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import escape
from pathlib import Path

from engine.render import dot_of
from sim.report.load import RunFiles
from sim.report.statuses import AgentStatus

__all__ = ["replay_section", "replay_data", "COLOURS"]

COLOURS = {"R": "#ff9800", "S": "#4caf50", "F": "#e53935"}   # I: the drawing's own colour
EVENTS_KEPT = 400            # journal events per agent carried into the page
BRIEF = 90                   # characters of an event's fields shown
SCRIPT = Path(__file__).with_name("replay.js")


def tree_svg(nodes: list[list]) -> str:
    """The drawing of a status journal's tree (inline SVG), or "" without Graphviz."""
    dot = shutil.which("dot")
    if dot is None:
        return ""
    text = dot_of([{"kind": n[4], "label": n[5], "parent": n[3]} for n in nodes])
    done = subprocess.run([dot, "-Tsvg"], input=text.encode(), capture_output=True, timeout=60)
    svg = done.stdout.decode("utf-8", errors="replace")
    if done.returncode != 0 or "<svg" not in svg:
        return ""
    # inline SVG in HTML needs no namespace declarations (and the page names no address)
    return re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg[svg.find("<svg"):])


def _brief(record: dict) -> str:
    fields = [f"{k}={v}" for k, v in record.items() if k not in ("t", "event", "agent")]
    text = " ".join(fields)
    return text if len(text) <= BRIEF else text[:BRIEF - 1] + "…"


def _events(files: RunFiles, origin: float) -> dict[str, list[list]]:
    out = {}
    for journal in files.journals:
        rows = [[round(r["t"] - origin, 3), str(r.get("event")), _brief(r)]
                for r in journal.records if isinstance(r.get("t"), (int, float))]
        out[journal.agent] = rows[-EVENTS_KEPT:] if len(rows) > EVENTS_KEPT else rows
    return out


def replay_data(statuses: dict[str, AgentStatus], files: RunFiles, origin: float,
                end: float) -> dict:
    """What replay.js reads: {end, colours, trees: {key: {svg, labels, leaves}}, agents: {id:
    {role, tree, frames, events}}}. Agents whose trees draw alike share one drawing."""
    trees: dict[str, dict] = {}
    keys: dict[str, str] = {}
    agents = {}
    events = _events(files, origin)
    for agent, status in sorted(statuses.items()):
        shape = json.dumps(status.nodes, sort_keys=True)
        if shape not in keys:
            keys[shape] = f"t{len(keys) + 1}"
            trees[keys[shape]] = {"svg": tree_svg(status.nodes),
                                  "labels": [n[5].split("\n")[0] for n in status.nodes],
                                  "leaves": status.leaves}
        agents[agent] = {"role": status.role or "(no role)", "tree": keys[shape],
                         "frames": [[round(f[0], 3), *f[1:]] for f in status.frames],
                         "events": events.get(agent, [])}
    return {"end": round(end, 3), "colours": COLOURS, "trees": trees, "agents": agents}


def _leaf_table(leaves: dict[str, list[dict]]) -> str:
    rows = []
    for role, stats in sorted(leaves.items()):
        for row in stats:
            rows.append(f"<tr><td class=l>{escape(role)}</td><td class=l>{escape(row['label'])}</td>"
                        f"<td>{row['agents']}</td><td>{row['ticks']}</td><td>{row['success']}</td>"
                        f"<td>{row['failure']}</td><td>{row['running'] / 60:.1f}</td></tr>")
    return ("<table id=leaf-stats><tr><th class=l>role</th><th class=l>leaf</th><th>agents</th>"
            "<th>ticks</th><th>successes</th><th>failures</th><th>running (agent·min)</th></tr>"
            + "".join(rows) + "</table>")


def replay_section(data: dict, leaves: dict[str, list[dict]], figure: str) -> str:
    """The section's HTML: controls, tree, events, fleet now, the fleet plot and the leaf table."""
    options = "".join(f"<option value='{escape(a)}'>{escape(a)} ({escape(v['role'])})</option>"
                      for a, v in data["agents"].items())
    legend = " ".join(f"<span class=st style='background:{c}'>{escape(name)}</span>" for name, c in
                      (("running", COLOURS["R"]), ("success", COLOURS["S"]), ("failure", COLOURS["F"])))
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (
        "<div id=replay><p class=note>Each agent's status journal (status/&lt;agent&gt;.jsonl) "
        "replayed: pick an agent and a time; its nodes take the colour of their status then "
        f"({legend}; uncoloured: not running), its journal events up to then are listed, and "
        "the table counts the agents in each leaf at that time.</p>"
        f"<p><label>agent <select id=replay-agent>{options}</select></label> "
        "<button id=replay-play type=button>▶ play</button> "
        f"<input id=replay-time type=range min=0 max={data['end']} step=any value=0 "
        "style='width:50%;vertical-align:middle'> <b id=replay-clock>0:00</b></p>"
        "<div id=replay-tree style='max-height:640px;overflow:auto;background:#fff;"
        "border:1px solid #e2e4e8'></div>"
        "<div style='display:flex;gap:16px;align-items:flex-start'>"
        "<div style='flex:3'><h3>The agent's journal up to then</h3><ol id=replay-events class=note></ol></div>"
        "<div style='flex:2'><h3>Agents in each leaf then</h3><table id=fleet-now></table></div></div>"
        f"{figure}<h3>Leaves over the whole run</h3>{_leaf_table(leaves)}</div>"
        "<style>.st{padding:0 6px;border-radius:3px}#replay-events li.now{font-weight:bold}</style>"
        f"<script type=application/json id=replay-data>{payload}</script>"
        f"<script>{SCRIPT.read_text(encoding='utf-8')}</script>")
