package describe

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// ElastiCache clusters: the original listed with DescribeCacheClusters,
// described each cluster by id (without ShowCacheNodeInfo, so no
// CacheNodes) and added Tags (ListTagsForResource's TagList). Here the pages
// of DescribeCacheClusters give the clusters. The original's per-resource
// client had no region; here every call is in the shard's region. Cloud
// Control's identifier for the type (ClusterName) is the cache cluster id.
var cacheCalls = calls{service: "ElastiCache", perResource: []string{"ListTagsForResource"}}

var cacheKind = kind{
	permissions: []string{"elasticache:DescribeCacheClusters", "elasticache:ListTagsForResource"},
	list:        listCacheClusters,
	get:         getCacheCluster,
}

func listCacheClusters(ctx context.Context, c *clients, l *lister) error {
	pages := elasticache.NewDescribeCacheClustersPaginator(c.ElastiCache(), &elasticache.DescribeCacheClustersInput{MaxRecords: aws.Int32(100)})
	for page := 1; pages.HasMorePages(); page++ {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("DescribeCacheClusters, page %d: %w", page, err)
		}
		for _, cl := range out.CacheClusters {
			l.enrich(aws.ToString(cl.CacheClusterId), func(ctx context.Context) (item, error) { return completeCacheCluster(ctx, c, cl) })
		}
	}
	return nil
}

func getCacheCluster(ctx context.Context, c *clients, id string) (item, error) {
	out, err := c.ElastiCache().DescribeCacheClusters(ctx, &elasticache.DescribeCacheClustersInput{CacheClusterId: &id})
	if err != nil {
		return item{}, cacheClusterGone(fmt.Errorf("DescribeCacheClusters: %w", err))
	}
	if len(out.CacheClusters) != 1 {
		return item{}, fmt.Errorf("DescribeCacheClusters answered %d clusters, want 1 (and no CacheClusterNotFound)", len(out.CacheClusters))
	}
	return completeCacheCluster(ctx, c, out.CacheClusters[0])
}

func cacheClusterGone(err error) error {
	if apiCode(err) == "CacheClusterNotFound" {
		return source.NotFound(err)
	}
	return err
}

// completeCacheCluster adds Tags, as the original did.
func completeCacheCluster(ctx context.Context, c *clients, cl types.CacheCluster) (item, error) {
	tags, err := c.ElastiCache().ListTagsForResource(ctx, &elasticache.ListTagsForResourceInput{ResourceName: cl.ARN})
	if err != nil {
		return item{}, cacheClusterGone(fmt.Errorf("ListTagsForResource: %w", err))
	}
	doc := document(cl)
	doc["Tags"] = list(tags.TagList)
	return item{id: aws.ToString(cl.CacheClusterId), doc: doc}, nil
}
