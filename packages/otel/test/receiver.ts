/** The OTLP receiver the tests export to lives in the test kit (the real-CLI tests use it too). */
export * from '@tinyagi/test-kit/otlp-receiver';
