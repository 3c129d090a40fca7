"""asv suites of dropbench: thin classes over dropbench.suites (docs/asv.md)."""

from dropbench import suites

suites.warm_up()  # once in asv's fork server rather than in every benchmark forked from it
