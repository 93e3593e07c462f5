"""A drawn downline (D7): the bounded subtree to N levels as an SVG, rendered server-side.

Only the first `max_nodes` addresses (level by level) are loaded; a node whose firstline is
not fully drawn gets a "+k" summary box instead of its missing members. networkx holds the
subgraph and orders it; the layout is a tidy tree (leaves side by side, parents centred).
"""

from __future__ import annotations

import networkx as nx
from markupsafe import escape
from sqlalchemy import select

from backoffice.models import Address, AddressTree

from .navigator import _name, downline_of

BOX_W, BOX_H, GAP_X, GAP_Y = 128, 40, 12, 56
COLOURS = {"partner": "#d9ead3", "customer": "#dbe8f6", "new_customer": "#fff2cc", "more": "#eeeeee"}


def subtree(session, root: Address, levels: int = 3, max_nodes: int = 300) -> nx.DiGraph:
    levels = max(1, min(levels, 20))
    graph = nx.DiGraph()
    rows = session.execute(
        select(Address.id, Address.sponsor_id, Address.first_name, Address.last_name, Address.company,
               Address.type, Address.firstline_count, Address.downline_count, AddressTree.depth)
        .join(Address.tree).where(downline_of(root), AddressTree.depth <= root.depth + levels)
        .order_by(AddressTree.depth, Address.sponsor_id, Address.id).limit(max_nodes)).all()
    graph.add_node(root.id, name=root.name, type=root.type.value, firstline=root.firstline_count,
                   downline=root.downline_count, level=0)
    for row in rows:
        if row.sponsor_id not in graph:
            continue
        graph.add_node(row.id, name=_name(row), type=getattr(row.type, "value", row.type),
                       firstline=row.firstline_count, downline=row.downline_count,
                       level=row.depth - root.depth)
        graph.add_edge(row.sponsor_id, row.id)
    for node, data in list(graph.nodes(data=True)):
        if data.get("type") == "more":
            continue
        hidden = data["firstline"] - graph.out_degree(node)
        if hidden > 0:
            more = f"more-{node}"
            graph.add_node(more, name=f"+{hidden}", type="more", firstline=0, downline=0,
                           level=data["level"] + 1)
            graph.add_edge(node, more)
    graph.graph["root"] = root.id
    return graph


def _in_order(nodes):
    """Members by id, the "+k" box last."""
    return sorted(nodes, key=lambda n: (isinstance(n, str), n if isinstance(n, int) else 0))


def layout(graph: nx.DiGraph) -> dict:
    """Tidy tree positions (x, y) in pixels."""
    pos, next_x = {}, 0
    root = graph.graph["root"]
    for node in nx.dfs_postorder_nodes(graph, root, sort_neighbors=_in_order):
        children = list(graph.successors(node))
        if children:
            x = sum(pos[c][0] for c in children) / len(children)
        else:
            x = next_x
            next_x += BOX_W + GAP_X
        pos[node] = (x, graph.nodes[node]["level"] * (BOX_H + GAP_Y))
    return pos


def svg(graph: nx.DiGraph, link=None) -> str:
    """The SVG document; `link(id)` gives the URL a box opens (None: no links)."""
    pos = layout(graph)
    width = max(x for x, _ in pos.values()) + BOX_W + 20
    height = max(y for _, y in pos.values()) + BOX_H + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="-10 -10 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="11" '
             'data-test="downline-tree">']
    for a, b in graph.edges():
        (x1, y1), (x2, y2) = pos[a], pos[b]
        parts.append(f'<path d="M{x1 + BOX_W / 2:.0f},{y1 + BOX_H:.0f} V{(y1 + BOX_H + y2) / 2:.0f} '
                     f'H{x2 + BOX_W / 2:.0f} V{y2:.0f}" fill="none" stroke="#999"/>')
    for node, data in graph.nodes(data=True):
        x, y = pos[node]
        name = str(data["name"])
        label = escape(name if len(name) <= 20 else name[:19] + "…")
        sub = "" if data["type"] == "more" else escape(f"{data['firstline']} / {data['downline']}")
        box = (f'<g class="node node-{data["type"]}" data-id="{escape(str(node))}">'
               f'<title>{escape(name)}</title>'
               f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="4" '
               f'fill="{COLOURS.get(data["type"], "#fff")}" stroke="#666"/>'
               f'<text x="{x + 6:.0f}" y="{y + 16:.0f}">{label}</text>'
               f'<text x="{x + 6:.0f}" y="{y + 31:.0f}" fill="#555">{sub}</text></g>')
        if link and data["type"] != "more" and node != graph.graph["root"]:
            box = f'<a href="{escape(link(node))}">{box}</a>'
        parts.append(box)
    parts.append("</svg>")
    return "".join(parts)
