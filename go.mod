module github.com/fetchsms/fetchsms

go 1.26.8

require golang.org/x/crypto v0.59.0

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/mattn/go-sqlite3 v1.14.53 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)
