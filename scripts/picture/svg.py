"""Draws a System (model.py) as plain SVG text: a box per host with its containers in rows (Consul servers,
then the workloads), who talks to whom as labelled arrows, and the swarm's services in a band below.

The output is a pure function of the model, so the committed picture can be compared with a fresh one as text.
"""
from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from scripts.picture.model import Edge, Host, Node, System

CHAR = 6.6  # an estimate of one character's width at 11px, enough to size boxes around their text
LINE = 14
GAP_X = 36
ROW_GAP = 84
PAD = 20
HEADER = 44
LANE = 16
FILL = {
    "Consul server": ("#f3e8ff", "#7e22ce"),
    "worker": ("#e0f2fe", "#0369a1"),
    "client": ("#dcfce7", "#15803d"),
    "compose service": ("#fef9c3", "#a16207"),
    "swarm service": ("#ffedd5", "#c2410c"),
}
OTHER = ("#f1f5f9", "#475569")
EDGE_COLOURS = {"Consul": "#7e22ce", "DNS": "#7e22ce", "HTTP": "#15803d", "Redis": "#a16207", "gossip": "#be123c"}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def render(system: System) -> str:
    nodes = [n for h in system.hosts for n in h.nodes] + system.swarm_services
    box_w = max(180, *(CHAR * len(text) + 2 * 10 for n in nodes for text in _lines(n)))
    box_h = 12 + LINE * max(len(_lines(n)) for n in nodes)
    edges_between_hosts = [e for e in system.edges if _host_of(system, e.source) is not _host_of(system, e.target)]
    top = [e for e in edges_between_hosts if _row(system, e.source) == 0 and _row(system, e.target) == 0]
    bottom = [e for e in edges_between_hosts if e not in top]
    title_h = 40
    top_h = LANE * len(top) + (PAD if top else 0)

    host_w = []
    for host in system.hosts:
        widest_row = max(len([n for n in host.nodes if n.row == row]) for row in _rows(host))
        text = max(CHAR * len(line) for line in _host_lines(host))
        host_w.append(max(widest_row * box_w + (widest_row - 1) * GAP_X, text) + 2 * PAD)
    rows = max(len(_rows(h)) for h in system.hosts)
    # Room below the last row for the curves between its boxes: at most as far apart as the widest host.
    longest = max(host_w) - 2 * PAD - box_w
    host_h = HEADER + rows * box_h + (rows - 1) * ROW_GAP + 24 + (24 + 0.1 * longest if _has_arcs(system) else 0)
    hosts_y = title_h + top_h

    boxes: dict[str, Box] = {}
    parts: list[str] = []
    x = PAD
    for host, width in zip(system.hosts, host_w):
        parts.append(f'<rect x="{x:.0f}" y="{hosts_y}" width="{width:.0f}" height="{host_h}" rx="10" fill="#ffffff" stroke="#94a3b8" stroke-dasharray="6 4"/>')
        for index, line in enumerate(_host_lines(host)):
            weight = ' font-weight="bold" font-size="13"' if index == 0 else ""
            parts.append(f'<text x="{x + PAD:.0f}" y="{hosts_y + 20 + index * 16}"{weight}>{escape(line)}</text>')
        for row_index, row in enumerate(_rows(host)):
            members = [n for n in host.nodes if n.row == row]
            span = len(members) * box_w + (len(members) - 1) * GAP_X
            left = x + (width - span) / 2
            y = hosts_y + HEADER + row_index * (box_h + ROW_GAP)
            for index, node in enumerate(members):
                boxes[node.key] = Box(left + index * (box_w + GAP_X), y, box_w, box_h)
        x += width + PAD * 2
    total_w = x - PAD
    bottom_y = hosts_y + host_h + PAD
    swarm_y = bottom_y + LANE * len(bottom) + (PAD if bottom else 0)
    swarm_h = HEADER + box_h + PAD
    span = len(system.swarm_services) * box_w + max(0, len(system.swarm_services) - 1) * GAP_X
    for index, node in enumerate(system.swarm_services):
        boxes[node.key] = Box(PAD + (total_w - PAD - span) / 2 + index * (box_w + GAP_X), swarm_y + HEADER, box_w, box_h)
    height = swarm_y + (swarm_h if system.swarm_services else 0) + PAD

    if system.swarm_services:
        parts.append(f'<rect x="{PAD}" y="{swarm_y}" width="{total_w - PAD:.0f}" height="{swarm_h}" rx="10" fill="#fff7ed" stroke="#c2410c" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{2 * PAD}" y="{swarm_y + 20}" font-weight="bold" font-size="13">{escape(_swarm_line(system))}</text>')
    for node in nodes:
        parts.extend(_node(node, boxes[node.key]))
    lanes = {"top": 0, "bottom": 0}
    for edge in system.edges:
        source, target = boxes[edge.source], boxes[edge.target]
        if edge in top:
            lanes["top"] += 1
            parts.extend(_channel(edge, source, target, hosts_y - lanes["top"] * LANE, upward=True))
        elif edge in bottom:
            lanes["bottom"] += 1
            parts.extend(_channel(edge, source, target, bottom_y - PAD + lanes["bottom"] * LANE, upward=False))
        elif abs(source.y - target.y) < 1:
            parts.extend(_arc(edge, source, target))
        else:
            parts.extend(_straight(edge, source, target))
    title = f"The {system.stack} stack as deployed: drawn from the program's registrations by `make picture`"
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w + PAD:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {total_w + PAD:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        "<defs>",
        *(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
            for name, colour in sorted(EDGE_COLOURS.items())
        ),
        "</defs>",
        '<rect width="100%" height="100%" fill="#f8fafc"/>',
        f'<text x="{PAD}" y="26" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    return "\n".join(head + parts + ["</svg>", ""])


def _has_arcs(system: System) -> bool:
    rows = {n.key: (id(h), n.row) for h in system.hosts for n in h.nodes}
    return any(rows.get(e.source) == rows.get(e.target) for e in system.edges)


def _lines(node: Node) -> list[str]:
    return [node.name, node.role, *node.details]


def _host_lines(host: Host) -> list[str]:
    first = " · ".join(filter(None, [f"host {host.name}", host.engine, host.swarm_role]))
    return [first, "networks: " + "; ".join(host.networks)]


def _swarm_line(system: System) -> str:
    managers = [h.name for h in system.hosts if h.swarm_role == "swarm manager"]
    workers = [h.name for h in system.hosts if h.swarm_role == "swarm worker"]
    nodes = ", ".join(filter(None, [f"managed from {', '.join(managers)}" if managers else "", f"workers {', '.join(workers)}" if workers else ""]))
    return f"the swarm ({nodes}): its services" if nodes else "the swarm: its services"


def _rows(host: Host) -> list[int]:
    return sorted({n.row for n in host.nodes})


def _host_of(system: System, key: str) -> Host | None:
    return next((h for h in system.hosts if any(n.key == key for n in h.nodes)), None)


def _row(system: System, key: str) -> int:
    return next(n.row for n in [n for h in system.hosts for n in h.nodes] + system.swarm_services if n.key == key)


def _node(node: Node, box: Box) -> list[str]:
    fill, stroke = FILL.get(node.role, OTHER)
    parts = [f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{box.w:.0f}" height="{box.h:.0f}" rx="6" fill="{fill}" stroke="{stroke}"/>']
    for index, line in enumerate(_lines(node)):
        style = ' font-weight="bold" font-size="12"' if index == 0 else (f' fill="{stroke}"' if index == 1 else ' fill="#334155"')
        parts.append(f'<text x="{box.x + 10:.0f}" y="{box.y + 17 + index * LINE:.0f}"{style}>{escape(line)}</text>')
    return parts


def _colour(edge: Edge) -> tuple[str, str]:
    name = next((word for word in EDGE_COLOURS if edge.label.startswith(word)), "HTTP")
    return name, EDGE_COLOURS[name]


def _markers(edge: Edge) -> str:
    name, _ = _colour(edge)
    start = f' marker-start="url(#arrow-{name})"' if edge.both_ways else ""
    return f'{start} marker-end="url(#arrow-{name})"'


def _label(edge: Edge, x: float, y: float) -> list[str]:
    _, colour = _colour(edge)
    width = CHAR * len(edge.label) + 8
    return [
        f'<rect x="{x - width / 2:.0f}" y="{y - 10:.0f}" width="{width:.0f}" height="14" rx="3" fill="#ffffff" fill-opacity="0.9"/>',
        f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="middle" fill="{colour}">{escape(edge.label)}</text>',
    ]


def _clip(box: Box, towards_x: float, towards_y: float) -> tuple[float, float]:
    """Where the line from the box's centre towards a point leaves the box."""
    dx, dy = towards_x - box.cx, towards_y - box.cy
    scale = min(box.w / 2 / abs(dx) if dx else float("inf"), box.h / 2 / abs(dy) if dy else float("inf"))
    return box.cx + dx * scale, box.cy + dy * scale


def _straight(edge: Edge, source: Box, target: Box) -> list[str]:
    x1, y1 = _clip(source, target.cx, target.cy)
    x2, y2 = _clip(target, source.cx, source.cy)
    _, colour = _colour(edge)
    line = f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="{colour}" stroke-width="1.5"{_markers(edge)}/>'
    return [line, *_label(edge, (x1 + x2) / 2, (y1 + y2) / 2 + 4)]


def _arc(edge: Edge, source: Box, target: Box) -> list[str]:
    """Between boxes of one row: a curve below the row, deeper the further apart they are."""
    x1, x2, y = source.cx, target.cx, source.y + source.h
    depth = _depth(source, target)
    _, colour = _colour(edge)
    path = f'<path d="M{x1:.0f},{y:.0f} Q{(x1 + x2) / 2:.0f},{y + 2 * depth:.0f} {x2:.0f},{y:.0f}" fill="none" stroke="{colour}" stroke-width="1.5"{_markers(edge)}/>'
    return [path, *_label(edge, (x1 + x2) / 2, y + depth + 4)]


def _depth(source: Box, target: Box) -> float:
    return 24 + 0.1 * abs(target.cx - source.cx)


def _channel(edge: Edge, source: Box, target: Box, lane_y: float, upward: bool) -> list[str]:
    """Between hosts: out of the top (or bottom) of each box to a lane of its own, and across."""
    y1 = source.y if upward else source.y + source.h
    y2 = target.y if upward else target.y + target.h
    offset = (_slot(edge) - 1) * 8
    x1, x2 = source.cx + offset, target.cx - offset
    _, colour = _colour(edge)
    path = f'<path d="M{x1:.0f},{y1:.0f} V{lane_y:.0f} H{x2:.0f} V{y2:.0f}" fill="none" stroke="{colour}" stroke-width="1.5"{_markers(edge)}/>'
    return [path, *_label(edge, (x1 + x2) / 2, lane_y - 3)]


def _slot(edge: Edge) -> int:
    """A small, stable offset per edge (from its label and endpoints, not Python's salted hash) so lanes
    leaving one box don't lie on top of each other."""
    return sum(map(ord, edge.source + edge.target)) % 3
