"""The run summary, the forgetting frontier and their rendering."""
