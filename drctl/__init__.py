"""drctl: plan and operate the payments disaster-recovery stack."""
