"""YAML read as composed nodes (which keep their line numbers), behind a guard against hostile shapes.

Shared by every reader of YAML policy files (Cilium allowlists, Calico and Kubernetes port policies,
roles files): each one reports problems with a line number, so they walk PyYAML's composed nodes
rather than loaded data, and each must refuse the same hostile inputs.  PyYAML is imported only
when a YAML file is read (it is not needed to analyse a capture).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from analyzer.allowlist.document import MAX_DEPTH

if TYPE_CHECKING:
    import yaml

# Aliases may add at most this many nodes to what the file spells out.  A policy that reuses a
# toPorts block through an anchor adds a few nodes per rule; 300 aliased rules x 300 aliased
# toFQDNs (4 KB) would add 270,000 and become 90,000 entries; "billion laughs" far more.
MAX_ALIAS_NODES = 100_000

ErrorFactory = Callable[[int | None, str], Exception]


def check_shape(text: str, error: ErrorFactory) -> None:
    """Refuse nesting past MAX_DEPTH and alias bombs before composing the nodes.

    PyYAML's event parser keeps its own stack (no recursion), but its composer, and the readers'
    walks, recurse once or more per level; and a composed alias is one shared node that a walk
    visits once per reference.  So this counts, from the events alone, how deep the document
    nests and how many nodes the aliases add when each is written out.
    """
    import yaml

    sizes: dict[str, int] = {}  # anchor -> nodes under it, aliases written out
    open_sizes: list[int] = []  # nodes so far in each open mapping or sequence
    open_anchors: list[str | None] = []
    added = 0  # nodes the aliases add
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.CollectionStartEvent):
            open_sizes.append(1)
            open_anchors.append(event.anchor)
            if len(open_sizes) > MAX_DEPTH:
                raise error(line or 0, f"nested more than {MAX_DEPTH} levels deep: not a firewall rule set")
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = open_anchors.pop(), open_sizes.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, sizes.get(str(event.anchor), 1)
            added += size - 1
            if added > MAX_ALIAS_NODES:
                problem = f"YAML aliases add more than {MAX_ALIAS_NODES:,} nodes to the document (an alias bomb?)"
                raise error(line, problem)
        else:
            continue  # stream and document boundaries
        if anchor is not None:
            sizes[anchor] = size
        if open_sizes:
            open_sizes[-1] += size


def compose_all(text: str, error: ErrorFactory) -> list[yaml.Node]:
    """The non-empty documents of ``text`` as composed nodes, after :func:`check_shape`; a syntax
    error becomes ``error(line, reason)``."""
    import yaml

    try:
        check_shape(text, error)
        return [node for node in yaml.compose_all(text, Loader=yaml.SafeLoader) if node is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise error(mark.line + 1 if mark else None, f"YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise error(None, f"YAML error: {exc}") from None


def ymap(node: yaml.Node | None) -> dict[str, yaml.Node]:
    """A mapping node's entries by their scalar keys; anything else is empty."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}


def yseq(node: yaml.Node | None) -> list[yaml.Node]:
    import yaml

    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def yscalar(node: yaml.Node | None) -> str | None:
    import yaml

    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def yline(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1
