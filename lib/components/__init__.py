"""One ComponentResource per capability; each is built for both regions by the same code."""
