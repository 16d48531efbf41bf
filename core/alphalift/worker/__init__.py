"""The worker: `alphalift serve --stdio`, so a host's own Python needs only the stdlib client."""
