"""The sponsor tree: the one place that assigns sponsors and answers tree questions."""
