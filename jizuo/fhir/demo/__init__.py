"""Vocabulary and resource builders for the synthetic demo clinical history (the timeline itself lives in
jizuo.platform.demo.clinical, which knows the demo district)."""
