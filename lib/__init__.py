"""The TapStack Pulumi program: a two-region disaster-recovery stack for payment processing."""
