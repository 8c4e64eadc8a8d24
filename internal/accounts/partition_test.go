package accounts

import "testing"

// A member role's ARN is in the partition of the exporter's region.
func TestMemberRoleARN(t *testing.T) {
	cases := []struct{ region, name, want string }{
		{"eu-west-1", "port-read", "arn:aws:iam::111122223333:role/port-read"},
		{"cn-north-1", "port-read", "arn:aws-cn:iam::111122223333:role/port-read"},
		{"us-gov-west-1", "port-read", "arn:aws-us-gov:iam::111122223333:role/port-read"},
		{"eu-west-1", "/ops/port-read", "arn:aws:iam::111122223333:role/ops/port-read"},
		{"", "port-read", "arn:aws:iam::111122223333:role/port-read"},
	}
	if len(cases) < 5 {
		t.Fatal("table cut short")
	}
	for _, tc := range cases {
		if got := MemberRoleARN(tc.region, "111122223333", tc.name); got != tc.want {
			t.Errorf("MemberRoleARN(%q, %q) = %s, want %s", tc.region, tc.name, got, tc.want)
		}
	}
}
