# Task runner for the customers service. Every recipe calls the same scripts/commands CI uses.

# List the recipes.
default:
    @just --list

# Run the HTTP API server.
run:
    cargo run -p customers-api --bin customers -- serve

# Run the whole test suite (starts/prepares PostgreSQL when needed); extra args go to cargo test.
test *args:
    bash scripts/test.sh {{args}}

# Format the code.
fmt:
    cargo fmt --all

# Check formatting and run clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Regenerate the committed OpenAPI spec (openapi/customers.json).
openapi:
    bash scripts/regen-openapi.sh

# Apply the database migrations.
migrate:
    cargo run -p customers-api --bin customers -- migrate

# Run what CI runs: fmt check, clippy, tests.
ci:
    bash .ci/run
