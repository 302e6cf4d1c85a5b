"""检查检验结果互认 (result mutual recognition): item catalogue, check API, doctor popup, decisions, statistics."""
