"""The year's suggestion figures, per deputy and per department, and their Excel export."""
