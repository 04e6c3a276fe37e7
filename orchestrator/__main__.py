"""`python -m orchestrator`: the support-agent command line."""

from orchestrator import main

main()
