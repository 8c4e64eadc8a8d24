package main

import (
	"os"

	"github.com/port-labs/port-aws-exporter/internal/exporter"
)

// configFlagUsage is the help of every command's --config flag.
const configFlagUsage = "config.json or YAML: a path or s3://bucket/key (default: CONFIG_URL, or BUCKET_NAME + CONFIG_JSON_FILE_KEY)"

// configLocation is --config, or else the environment's (CONFIG_URL, or
// BUCKET_NAME + CONFIG_JSON_FILE_KEY).
func configLocation(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	return exporter.ConfigLocationFromEnv()
}

func portCredentialsConfigured() bool {
	return (os.Getenv("PORT_CLIENT_ID") != "" && os.Getenv("PORT_CLIENT_SECRET") != "") || os.Getenv("PORT_CREDS_SECRET_ARN") != ""
}

// build is exporter.Build; tests replace it to see the settings a command
// hands the wiring.
var build = exporter.Build
