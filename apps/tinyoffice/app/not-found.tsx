import Link from 'next/link';

export default function NotFound() {
  return (
    <section className="mx-auto mt-10 max-w-xl">
      <h1 className="mb-2 text-lg font-semibold">Page not found</h1>
      <Link className="underline" href="/">
        Back to the office
      </Link>
    </section>
  );
}
