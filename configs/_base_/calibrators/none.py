calibrators = []
