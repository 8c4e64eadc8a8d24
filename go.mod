module github.com/port-labs/port-aws-exporter

go 1.26.8
