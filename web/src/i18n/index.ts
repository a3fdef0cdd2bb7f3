import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import en from "./locales/en.json";
import fr from "./locales/fr.json";
import he from "./locales/he.json";

export const LANGUAGES = [
  { code: "en", label: "English", dir: "ltr" },
  { code: "fr", label: "Français", dir: "ltr" },
  { code: "he", label: "עברית", dir: "rtl" },
] as const;
export type Language = (typeof LANGUAGES)[number]["code"];

export function directionOf(language: string): "ltr" | "rtl" {
  return LANGUAGES.find((item) => item.code === language)?.dir ?? "ltr";
}

/** Each user's language is kept on this device under their id (a preference, never a credential). */
export function storedLanguage(userId: string | null): Language | null {
  const value = localStorage.getItem(userId ? `parley.language.${userId}` : "parley.language");
  return LANGUAGES.some((item) => item.code === value) ? (value as Language) : null;
}

export function storeLanguage(userId: string | null, language: Language): void {
  localStorage.setItem(userId ? `parley.language.${userId}` : "parley.language", language);
  localStorage.setItem("parley.language", language); // the login page speaks the last one used
}

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, fr: { translation: fr }, he: { translation: he } },
  lng: storedLanguage(null) ?? "en",
  fallbackLng: "en",
  interpolation: { escapeValue: false },
  returnNull: false,
});

export default i18n;
