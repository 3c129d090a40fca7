"""Running the plan on a Ray cluster (`dropbench reproduce --cluster ...`): an optional extra.

    address.py   what `--cluster` names (local:N, HOST:PORT, ray://HOST:PORT, auto) and connecting to it
    nodes.py     what the cluster's nodes offer, and which node times which profile
    transfer.py  a checkpoint directory as bytes, and back into the run cache atomically
    tasks.py     the bodies of the Ray tasks: train one seed, time one profile
    executor.py  submits tasks, retries a lost one once, shows progress per node, cancels on Ctrl-C
    driver.py    `Cluster`: the two stages of reproduce (train_all, measure_all) as Ray tasks
    node.py      `dropbench cluster node`: a Ray node that advertises hardware profiles
    estimate.py  `dropbench cluster estimate`: a plan's wall time on N nodes, from recorded training times or timed steps

Nothing here imports Ray at module level: without `--cluster`, Ray is never imported.
"""

from .address import ClusterAddress, parse_address
from .driver import Cluster, connect

__all__ = ["Cluster", "ClusterAddress", "connect", "parse_address"]
