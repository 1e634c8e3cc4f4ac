package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/fetchsms/fetchsms/client"
)

// Buy a Telegram number in area code 332, show it, and wait for the code. The
// purchase is retried safely on a network failure; WaitForCode long-polls the
// server, so the code is printed the moment it lands.
func Example() {
	c, err := client.New(client.DefaultURL, os.Getenv("FETCHSMS_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	v, err := c.CreateVerification(ctx, client.VerificationRequest{Service: "telegram", AreaCode: "332"})
	switch client.ErrorCode(err) {
	case "":
		if err != nil {
			log.Fatal(err) // the network, not the API
		}
	case client.CodeOutOfStock:
		log.Fatal("no Telegram number in 332 right now: try another area code")
	case client.CodeInsufficientBalance:
		log.Fatal("add funds first")
	default:
		log.Fatal(err)
	}
	fmt.Println("enter this number in Telegram:", v.Number)

	ctx, cancel := context.WithDeadline(ctx, v.ExpiresAt.Add(5*time.Second))
	defer cancel()
	v, err = c.WaitForCode(ctx, v.ID)
	if err != nil {
		log.Fatal(err)
	}
	if v.Status == client.StatusReceived {
		fmt.Println("code:", v.Code)
	} else {
		fmt.Println("no code; the purchase was refunded:", v.Status)
	}
}

// Rent a number for 30 days and print every message as it arrives.
func ExampleClient_WaitForMessage() {
	c, err := client.New(client.DefaultURL, os.Getenv("FETCHSMS_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	r, err := c.CreateRental(ctx, client.RentalRequest{Service: client.UnlimitedServices, Days: 30})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("your number:", r.Number)
	after := ""
	for {
		m, err := c.WaitForMessage(ctx, r.ID, after)
		if errors.Is(err, client.ErrRentalEnded) {
			return
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s (code %q)\n", m.Sender, m.Body, m.Code)
		after = m.ID
	}
}

// Branch on the documented error codes, never on the wording of the detail.
func ExampleAPIError() {
	c, _ := client.New(client.DefaultURL, os.Getenv("FETCHSMS_API_KEY"))
	_, err := c.CancelVerification(context.Background(), "9f3e1c2a-0000-4000-8000-000000000001")
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.Code == client.CodeAlreadyReceived {
		fmt.Println("too late to cancel: the code arrived")
	}
}
