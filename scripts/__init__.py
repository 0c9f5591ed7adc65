"""Scripts of the repository: set-up, synth, tests, and the comparison with the alternatives."""
