package catalog

// PartitionData is partitions_gen.go's table, for the keep-in-step test.
var PartitionData = partitionData
