"""Tim PORA: partner agencies on an office's team, the reports forwarded to them, joint
operations and the supervision map."""
