// Package testbed starts throwaway PostgreSQL and MinIO servers and generates
// Odoo-shaped databases for tests and benchmarks.
package testbed
