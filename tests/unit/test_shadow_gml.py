"""GML as Shadow's parser reads it, the graph rules hosts need, and the generator's writer."""
import pytest

from sim.scenario.gml import format_loss, graph_problems, parse_gml, write_gml

NODE = 'node [ id {id} host_bandwidth_down "1 Gbit" host_bandwidth_up "1 Gbit" ]'
LOOP = 'edge [ source {a} target {b} latency "1 ms" packet_loss 0.0 ]'


def gml(*items, directed=0):
    return "graph [\n  directed %d\n" % directed + "".join(f"  {item}\n" for item in items) + "]\n"


def problems(text, used=(0,), **kw):
    graph = parse_gml(text)
    return [str(p) for p in graph.problems] or [str(p) for p in graph_problems(graph, set(used), **kw)]


def test_a_minimal_graph_parses():
    graph = parse_gml(gml(NODE.format(id=0), LOOP.format(a=0, b=0)))
    assert graph.problems == [] and list(graph.nodes) == [0] and graph.nodes[0].line == 3
    edge = graph.edges[0]
    assert (edge.source, edge.target, edge.attrs) == (0, 0, {"latency": "1 ms", "packet_loss": 0.0})
    assert graph_problems(graph, {0}) == []


def test_values_are_typed_like_shadow():
    graph = parse_gml('graph [\n label "x y" weight 3 ratio 0.5 big 99999999999 neg -2\n'
                      ' node [ id 1 s "a\\b" ]\n]\n')
    assert graph.problems == [] and graph.nodes[1].attrs == {"s": "a\\b"}


@pytest.mark.parametrize("text, message", [
    ("graph [node [ id 0 ] ]", "line 1: gml: expected whitespace"),
    ("graph [\n node [ id 0 ]]\n", "line 2: gml: expected whitespace"),
    ("graph [\n node [ id 0 ]\n", "line 3: gml: expected a key or ']', found 'end of file'"),
    ("graph [\n directed 0\n directed 1\n]\n", "line 3: gml: 'directed' must only be given once"),
    ("graph [\n directed 2\n]\n", "line 2: gml: 'directed' must be 0 or 1"),
    ("graph [\n node [ id 0 id 1 ]\n]\n", "line 2: gml: duplicate key 'id'"),
    ("graph [\n a 1\n a 2\n]\n", "line 3: gml: duplicate key 'a'"),
    ("graph [\n s \"a\\\"b\"\n]\n", "line 2: gml: expected a number or a \"string\""),
    ("graph [\n graphics [ x 1 ]\n]\n", "line 2: gml: expected a number or a \"string\""),
    ("graph [\n]\nmore", "line 3: gml: text after the graph's closing ']'"),
    ("grph [\n]\n", "line 1: gml: expected 'graph'"),
    ("graph [\n node [ label \"x\" ]\n]\n", "line 2: gml: node has no 'id'"),
    ("graph [\n node [ id -1 ]\n]\n", "line 2: gml: node 'id' must be a non-negative integer, got -1.0"),
    ("graph [\n node [ id 3000000000 ]\n]\n", "line 2: gml: node 'id' must be a non-negative integer"),
    (gml(NODE.format(id=0), NODE.format(id=0)), "line 4: gml: duplicate node id 0 (first at line 3)"),
    (gml(NODE.format(id=0), "edge [ source 0 latency \"1 ms\" packet_loss 0.0 ]"),
     "line 4: gml: edge 'target' is missing"),
    (gml(NODE.format(id=0), LOOP.format(a=0, b=5)), "line 4: gml: edge target 5 is not a node"),
    (gml(NODE.format(id=0), "edge [ source 0 target 0 packet_loss 0.0 ]"),
     "line 4: gml: edge 0-0: 'latency' is missing"),
    (gml(NODE.format(id=0), "edge [ source 0 target 0 latency 5 packet_loss 0.0 ]"),
     "line 4: gml: edge 0-0: latency must be a \"string\" with a unit, got 5"),
    (gml(NODE.format(id=0), "edge [ source 0 target 0 latency \"1 ms\" ]"),
     "line 4: gml float: edge 0-0: 'packet_loss' is missing (write 0.0)"),
    (gml(NODE.format(id=0), "edge [ source 0 target 0 latency \"1 ms\" packet_loss \"0.1\" ]"),
     "line 4: gml float: edge 0-0: 'packet_loss' must be a float, got '0.1'"),
    (gml(NODE.format(id=0), LOOP.format(a=0, b=0).replace('"1 ms"', '"1.5 ms"')),
     "line 4: units: edge 0-0: latency: '1.5 ms': the value must be an integer"),
])
def test_shadow_refuses(text, message):
    assert problems(text)[0].startswith(message), problems(text)


def test_graph_rules_apply_to_used_nodes_only():
    text = gml(NODE.format(id=0), NODE.format(id=1), NODE.format(id=2), LOOP.format(a=0, b=0),
               LOOP.format(a=1, b=1))
    assert problems(text, used=(0,)) == []
    assert problems(text, used=(0, 1)) == ["line 4: connectivity: node(s) 1 are not connected to node 0"]
    assert problems(text, used=(2,)) == ["line 5: self-loop: node 2 hosts processes but has no self-loop "
                                         "edge (source 2 target 2)"]


def test_undirected_edges_in_both_directions_are_duplicates():
    both = gml(NODE.format(id=0), NODE.format(id=1), LOOP.format(a=0, b=0), LOOP.format(a=1, b=1),
               LOOP.format(a=0, b=1), LOOP.format(a=1, b=0))
    assert problems(both, used=(0, 1)) == ["line 8: duplicate edge: 2 edges between nodes 0 and 1 (lines 7, 8)"]
    directed = both.replace("directed 0", "directed 1")
    assert problems(directed, used=(0, 1)) == []


def test_directed_graphs_need_paths_both_ways():
    one_way = gml(NODE.format(id=0), NODE.format(id=1), LOOP.format(a=0, b=0), LOOP.format(a=1, b=1),
                  LOOP.format(a=0, b=1), directed=1)
    assert problems(one_way, used=(0, 1)) == ["line 4: connectivity: node(s) 1 cannot reach node 0 and back"]


def test_without_shortest_paths_the_graph_must_be_complete():
    chain = gml(*(NODE.format(id=i) for i in range(3)), *(LOOP.format(a=i, b=i) for i in range(3)),
                LOOP.format(a=0, b=1), LOOP.format(a=1, b=2))
    assert problems(chain, used=(0, 1, 2)) == []
    assert problems(chain, used=(0, 1, 2), shortest_path=False) == [
        "line 3: complete graph: use_shortest_path is false but there is no edge 0-2 (2 pairs missing)"]


def test_the_writer_round_trips():
    text = write_gml([(0, "eu", "100 Mbit", "100 Mbit"), (1, "us", "1 Gbit", "50 Mbit")],
                     [(0, 0, "5 ms", 0), (0, 1, "80 ms", 0.01), (1, 1, "250 us", 1e-05)])
    graph = parse_gml(text)
    assert graph.problems == [] and graph_problems(graph, {0, 1}) == []
    assert [(e.source, e.target, e.attrs["latency"], e.attrs["packet_loss"]) for e in graph.edges] == \
        [(0, 0, "5 ms", 0.0), (0, 1, "80 ms", 0.01), (1, 1, "250 us", 1e-05)]
    assert graph.nodes[1].attrs == {"label": "us", "host_bandwidth_down": "1 Gbit", "host_bandwidth_up": "50 Mbit"}
    assert format_loss(0) == "0.0" and format_loss(1) == "1.0"
