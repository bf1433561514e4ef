import type { FileClient } from '@sotong/sdk';

/** Downloads a file with the session's credentials and hands it to the browser as a saved file. */
export async function saveFile(files: FileClient, fileId: string, name: string): Promise<void> {
  const blob = await (await files.download(fileId)).blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  // The browser has taken the bytes once the click's task is over.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
