package describe

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/acm/types"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// ACM certificates: the original listed with ListCertificates and gave the
// mapping DescribeCertificate's Certificate (not the list's summary). Cloud
// Control has no type for certificates, so AWS::ACM::Certificate exists only
// here; its identifier is the certificate ARN. ListCertificates returns
// only RSA 1024/2048-bit certificates unless asked for other key types, so
// the listing asks for every key type the SDK knows: ECDSA and larger RSA
// certificates, which the original left out, are listed too.
var acmCalls = calls{service: "ACM", perResource: []string{"DescribeCertificate"}}

var acmKind = kind{
	permissions: []string{"acm:ListCertificates", "acm:DescribeCertificate"},
	list:        listCertificates,
	get:         getCertificate,
}

func listCertificates(ctx context.Context, c *clients, l *lister) error {
	in := &acm.ListCertificatesInput{
		MaxItems: aws.Int32(1000),
		Includes: &types.Filters{KeyTypes: types.KeyAlgorithm("").Values()},
	}
	pages := acm.NewListCertificatesPaginator(c.ACM(), in)
	for page := 1; pages.HasMorePages(); page++ {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ListCertificates, page %d: %w", page, err)
		}
		for _, s := range out.CertificateSummaryList {
			arn := aws.ToString(s.CertificateArn)
			l.enrich(arn, func(ctx context.Context) (item, error) { return getCertificate(ctx, c, arn) })
		}
	}
	return nil
}

func getCertificate(ctx context.Context, c *clients, arn string) (item, error) {
	out, err := c.ACM().DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: &arn})
	if err != nil {
		if apiCode(err) == "ResourceNotFoundException" {
			return item{}, source.NotFound(err)
		}
		return item{}, fmt.Errorf("DescribeCertificate: %w", err)
	}
	if out.Certificate == nil {
		return item{}, fmt.Errorf("DescribeCertificate answered no Certificate")
	}
	return item{id: aws.ToString(out.Certificate.CertificateArn), doc: document(out.Certificate)}, nil
}
