"""Rubric evals: how closely a scorer agrees with human graders, and whether it can be gamed."""
