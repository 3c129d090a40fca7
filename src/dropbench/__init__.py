"""dropbench: benchmark harness for dropout-based network compaction."""

__version__ = "0.1.0"
