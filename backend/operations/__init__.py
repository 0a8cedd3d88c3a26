"""Business operations: one function per thing a person does. They change models, flush,
write the audit entry and queue notifications; they never commit and never see HTTP."""
