"""The `vlkit` command line: one file per subcommand (`quickstart_job` is the job `vlkit
quickstart` runs: recipes one after another, compared). Nothing in the library imports this."""
