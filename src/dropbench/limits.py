"""Every bound dropbench puts on a number that comes from outside (a file, a flag, a profile).

One home, so the schemas, the command line, the data readers and docs/security.md agree. The
bounds are generous for real work and small enough that no value can exhaust memory or hang.
"""

MAX_WIDTH = 1 << 16  # units of one layer (the papers' widest: 2048)
MAX_LAYERS = 64
MAX_BATCH = 1 << 16
MAX_EPOCHS = 100_000
MAX_SEED = 2**32 - 1  # numpy's and torch's common seed range
MAX_THREADS = 1024  # a profile's threads (onnxruntime hangs, torch crashes at 100,000)
MAX_BATCH_SIZES = 32  # entries of a profile's batch_sizes
MAX_PLAN_SEEDS = 100  # trainings per run of a plan (--seeds, a plan file)
MAX_PLAN_RUNS = 1000  # runs of a plan file
PLAN_MAX_BYTES = 1 << 20  # a plan file (the full plan: about 10 KB)
MAX_SECONDS = 3600.0  # --min-time
MANIFEST_MAX_BYTES = 16 << 20  # a full-plan manifest with curves is about 100 KB
PROFILE_MAX_BYTES = 1 << 20
ASV_CONFIG_MAX_BYTES = 1 << 20  # asv.conf.json (dropbench's: 3 KB) and ~/.asv-machine.json (a few hundred bytes a machine)
ASV_RESULTS_MAX_BYTES = 16 << 20  # an asv results file, benchmarks.json or machine.json (dropbench's: 32 KB, 22 KB, 400 bytes)
RECORDS_MAX_BYTES = 16 << 20  # an output's claims.json, bench.json, speedups.json, reproduce.json
MAX_RECORDED_SECONDS = 1e7  # a stage or training a record reports (115 days; --other-seconds has the same bound)
JSON_MAX_DEPTH = 32  # nesting of objects / lists in any JSON file dropbench reads
IDX_MAX_DIMS = 3  # an IDX file's dimensions: images [N, H, W], labels [N]; its values are bounded by DATA_MAX_VALUES
MAX_FEATURES = MAX_WIDTH  # values per sample of the user's data: the MLP's first layer reads them all
MAX_CLASSES = MAX_WIDTH  # labels 0 .. MAX_CLASSES - 1: the last layer has one unit per class
DATA_MAX_VALUES = 1 << 27  # numbers in one array of the user's data, IDX files included (MNIST's train images: 47 million; 512 MiB as float32)
DATA_MAX_BYTES = 1 << 30  # one .npy member of an npz, uncompressed, as its zip entry declares it
CSV_MAX_BYTES = 256 << 20  # a CSV file
CSV_MAX_LINE = 4 << 20  # characters in one line of a CSV file (MAX_FEATURES cells of 64 characters)
IDX_MIN_TRAIN_IMAGES = 10  # enough for a non-empty train and validation split
MAX_NODES = 10_000  # a node count of `cluster estimate` (a plan's every seed on its own worker needs hundreds at most)
MAX_NODE_COUNTS = 64  # node counts of one `cluster estimate`: the rows of its table
MAX_TRANSFER_BYTES = 2 << 30  # a checkpoint a Ray task returns (the full plan's largest, variants included: tens of MB)
