"""Learning from and measuring deflection: the holdout experiment, outcomes per article, a customer's
history across channels, and the evidence from feedback that moves suggestions."""
