"""Workflows: the library calls behind each CLI command.

``experiment`` runs a whole transfer experiment (split, pretrain, transfer,
evaluate, report). Each CLI command parses its options, calls one function
here and prints the result, so a Python user can do anything the CLI does
with one call.
"""
