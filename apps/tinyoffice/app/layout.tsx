import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import './globals.css';
import { Shell } from '@/components/shell';

// The title is the Shell's: it names the page's section (and what the page shows).
export const metadata: Metadata = { description: 'TinyAGI: your agent teams at work', referrer: 'no-referrer' };
export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

// Applies the saved theme before paint (a preference, not a credential).
const THEME_SCRIPT = `try{var t=localStorage.getItem('tinyoffice-theme');if(t==='dark'||(!t&&matchMedia('(prefers-color-scheme: dark)').matches))document.documentElement.classList.add('dark')}catch(e){}`;

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
        <Shell>{children}</Shell>
      </body>
    </html>
  );
}
