"""`python -m stream.cli`: how the demo, the benchmarks and the tests start a command."""

from stream.cli import main

main()
