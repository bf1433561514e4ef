/**
 * Passwords that appear at the top of every breach corpus, lower-cased. A password equal to one
 * of these, or to one of these followed by digits or punctuation, is refused.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '123456', '123456789', '12345678', '1234567890', '1234567', '12345', '123123', '111111', '000000', '654321',
  '666666', '121212', '112233', '123321', '987654321', '1q2w3e4r', '1q2w3e4r5t', '1qaz2wsx', 'qwerty', 'qwerty123',
  'qwertyuiop', 'asdfgh', 'asdfghjkl', 'zxcvbnm', 'qazwsx', 'password', 'password1', 'passw0rd', 'p@ssw0rd', 'p@ssword',
  'admin', 'administrator', 'root', 'letmein', 'welcome', 'welcome1', 'iloveyou', 'monkey', 'dragon', 'sunshine',
  'princess', 'football', 'baseball', 'soccer', 'master', 'shadow', 'superman', 'batman', 'trustno1', 'starwars',
  'whatever', 'freedom', 'hello', 'hello123', 'charlie', 'michael', 'jennifer', 'jordan', 'hunter', 'hunter2',
  'computer', 'internet', 'secret', 'changeme', 'default', 'guest', 'test', 'test123', 'testing', 'login',
  'abc123', 'abcd1234', 'abcdef', 'abcdefg', 'aa123456', 'a123456', 'a12345678', 'qwe123', 'qweasdzxc', 'zaq12wsx',
  'samsung', 'google', 'naver', 'daum', 'kakao', 'korea', 'seoul', 'sarang', 'saranghae', 'love',
  'lovely', 'loveme', 'fuckyou', 'killer', 'pokemon', 'minecraft', 'cheese', 'ginger', 'pepper', 'summer',
  'winter', 'spring', 'autumn', 'flower', 'orange', 'banana', 'apple', 'chocolate', 'purple', 'silver',
  'golden', 'tigger', 'buster', 'thomas', 'robert', 'daniel', 'andrew', 'joshua', 'matthew', 'jessica',
  'company', 'office', 'sotong', 'messenger', 'slack', 'mattermost', 'teams', 'password123', 'admin123', 'qwerty1',
  'correcthorsebatterystaple', 'letmein123', 'welcome123', 'iloveyou1', 'princess1', 'sunshine1', 'football1', 'monkey123',
]);
