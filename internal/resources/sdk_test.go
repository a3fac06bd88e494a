package resources

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

// staticCredential hands out the test token of tenant A.
type staticCredential struct{}

func (staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: tokenA, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestSDKResourceGroups drives the resource group routes with the official
// armresources client.
func TestSDKResourceGroups(t *testing.T) {
	e := newEnv(t, FeatureApprovalAuto, true)
	client, err := armresources.NewResourceGroupsClient(subA, staticCredential{}, &azarm.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Transport: e.srv.Client(),
			Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: e.srv.URL, Audience: "https://management.azure.com"},
			}},
			Retry: policy.RetryOptions{MaxRetries: -1},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	created, err := client.CreateOrUpdate(ctx, "sdk-rg", armresources.ResourceGroup{
		Location: to.Ptr("West Europe"),
		Tags:     map[string]*string{"owner": to.Ptr("sdk")},
	}, nil)
	if err != nil {
		t.Fatalf("CreateOrUpdate: %v", err)
	}
	if got := *created.Location; got != "westeurope" {
		t.Errorf("location %q, want westeurope", got)
	}
	if got := *created.Properties.ProvisioningState; got != "Succeeded" {
		t.Errorf("provisioningState %q", got)
	}

	got, err := client.Get(ctx, "SDK-RG", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if *got.ID != "/subscriptions/"+subA+"/resourceGroups/sdk-rg" || *got.Name != "sdk-rg" || *got.Tags["owner"] != "sdk" {
		t.Errorf("Get = id %q name %q tags %v", *got.ID, *got.Name, got.Tags)
	}

	exists, err := client.CheckExistence(ctx, "sdk-rg", nil)
	if err != nil || !exists.Success {
		t.Errorf("CheckExistence = %v, %v; want true", exists.Success, err)
	}

	var names []string
	for pager := client.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, g := range page.Value {
			names = append(names, *g.Name)
		}
	}
	if len(names) != 1 || names[0] != "sdk-rg" {
		t.Errorf("list = %v, want [sdk-rg]", names)
	}

	poller, err := client.BeginDelete(ctx, "sdk-rg", nil)
	if err != nil {
		t.Fatalf("BeginDelete: %v", err)
	}
	if _, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}); err != nil {
		t.Fatalf("PollUntilDone: %v", err)
	}

	exists, err = client.CheckExistence(ctx, "sdk-rg", nil)
	if err != nil || exists.Success {
		t.Errorf("CheckExistence after delete = %v, %v; want false", exists.Success, err)
	}
	_, err = client.Get(ctx, "sdk-rg", nil)
	var respErr *azcore.ResponseError
	if !errors.As(err, &respErr) || respErr.StatusCode != http.StatusNotFound || respErr.ErrorCode != "ResourceGroupNotFound" {
		t.Errorf("Get after delete = %v, want 404 ResourceGroupNotFound", err)
	}
}
