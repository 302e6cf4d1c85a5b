"""问医生 (questions to my family-doctor team): a signed resident asks, the team answers, and answers worth
reusing are published as FAQ entries without personal data."""
