"""cujeval: SLOs, error budgets and release gates for the AI quality of critical user journeys."""

__version__ = "0.1.0"
