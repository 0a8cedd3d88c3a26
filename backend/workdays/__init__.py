"""The Chinese working-day calendar and the holiday overrides the office enters."""
