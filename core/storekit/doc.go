// Package storekit holds what every core.ObjectStore implementation shares:
// the rules an object key must follow, the reader a Put consumes and the
// error of a cancelled one, so the S3 store and the local directory agree.
package storekit
