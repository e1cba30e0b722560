"""Human review: people grade real answers, see how they agree with each other and with the
scorers, and turn their grades into eval data (docs/evals.md, "A grading round")."""
