"""The NAS-Bench-201 cell space: an arch is a tuple of 6 op names, one per edge in the order
node1<-0, node2<-0, node2<-1, node3<-0, node3<-1, node3<-2 (5**6 = 15625 archs), as in tools/nb201_benchmark.py.

`space` is a SearchSpace: `sample` draws each edge uniformly (disconnected cells included, as in NAS-Bench-201; pass
`connected_only=True` to `make_space` to exclude them), `mutate` changes one edge to another op. `genotype_string` /
`parse_genotype` convert to and from NAS-Bench-201's arch string, the `genotype` column of models/nb201/truth.csv.
"""
from ..core import SearchSpace

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = 6
NODES = ((0,), (1, 2), (3, 4, 5))  # edge indices entering nodes 1, 2, 3


def genotype_string(arch):
    """|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"""
    return "+".join("|" + "|".join(f"{arch[e]}~{j}" for j, e in enumerate(node)) + "|" for node in NODES)


def parse_genotype(text):
    """Inverse of genotype_string."""
    nodes = text.strip().split("+")
    ops = tuple(edge.split("~")[0] for node in nodes for edge in node.strip("|").split("|"))
    if len(nodes) != 3 or len(ops) != EDGES or any(op not in OPS for op in ops) or genotype_string(ops) != text.strip():
        raise ValueError(f"not a NAS-Bench-201 genotype: {text!r}")
    return ops


def connected(arch):
    """True if the cell output (node 3) is reachable from its input along edges other than 'none'."""
    live = [op != "none" for op in arch]
    r1 = live[0]
    r2 = live[1] or (r1 and live[2])
    return live[3] or (r1 and live[4]) or (r2 and live[5])


def make_space(connected_only=False):
    def sample(rng):
        while True:
            arch = tuple(rng.choice(OPS) for _ in range(EDGES))
            if not connected_only or connected(arch):
                return arch

    def mutate(arch, rng):
        while True:
            edge = rng.randrange(EDGES)
            child = arch[:edge] + (rng.choice([op for op in OPS if op != arch[edge]]),) + arch[edge + 1:]
            if not connected_only or connected(child):
                return child

    return SearchSpace(sample, mutate, decisions=(OPS,) * EDGES)


space = make_space()
sample, mutate, decisions = space.sample, space.mutate, space.decisions
