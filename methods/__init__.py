"""Methods: one sub-package per paper plus the baselines that paper tables compare against."""
